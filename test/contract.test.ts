import { Cache } from '../src/index.js';
import { registerContractSuites } from './helpers/contract.js';

registerContractSuites('Cache', (directory, options) => new Cache(directory, options));
