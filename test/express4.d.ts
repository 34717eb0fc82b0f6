/**
 * `express4` is Express 4 installed under an alias (`npm:express@^4`) so the bindings can be tested
 * against both majors. Its public API is the one `@types/express` describes for the calls we make.
 */
declare module 'express4' {
  import express from 'express';
  export default express;
}
