export * from './enums';
export * from './call-result-event';
export * from './envelope';
export * from './http';
export * from './instance-lifecycle';
export * from './admin';
export * from './monitoring';
export * from './aggregator-heartbeat';
