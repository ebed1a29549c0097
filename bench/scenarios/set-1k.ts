import { KiB, setScenario } from '../lib.js';

export default setScenario('set-1k', 'set, 1 KiB values', KiB, 10_000);
