import { parentPort, workerData } from 'node:worker_threads';
const n: number = workerData.x;
parentPort!.postMessage(n + 1);
