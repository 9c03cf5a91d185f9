export * from './child-service';
export * from './http-client';
export * from './signing';
export * from './stack';
export * from './tenant';
export * from './test-env';
export * from './wait-for';
