export * from './enums';
export * from './call-result-event';
export * from './envelope';
export * from './http';
