export * from './test-env';
export * from './wait-for';
export * from './http-client';
export * from './stack';
