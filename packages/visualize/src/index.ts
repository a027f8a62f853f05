export {};
export * from './charts.js';
