/**
 * `koa2` is Koa 2 installed under an alias (`npm:koa@^2`) so the binding can be tested against both
 * majors. Its public API is the one `@types/koa` describes for the calls we make.
 */
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
