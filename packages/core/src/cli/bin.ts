import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
  },
  (error: unknown) => {
    process.stderr.write(`anonymous-sessions: unexpected error: ${error instanceof Error ? error.message : 'unknown'}\n`);
    process.exitCode = 1;
  },
);
