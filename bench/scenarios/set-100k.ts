import { KiB, setScenario } from '../lib.js';

export default setScenario('set-100k', 'set, 100 KiB values', 100 * KiB, 1_000);
