'use strict';
// Tests are compiled by `tsc --build` and run from dist/. Unit tests (*.test.js) need no I/O;
// integration tests (*.int.test.js) use the real Postgres, Redis and Kafka prepared by the root hooks.
module.exports = {
  require: ['libs/testkit/dist/root-hooks.js'],
  spec: ['libs/*/dist/**/*.test.js', 'services/*/dist/**/*.test.js'],
  timeout: 60000,
  exit: true,
};
