/** The engine worker: tfjs on WebGPU, exposed to the page through comlink. All logic lives in engine-api.ts. */
import { expose } from 'comlink';
import { installErrorTransfer } from '../src/lib/shared/transfer';
import { api } from './engine-api';

installErrorTransfer();

expose(api);
