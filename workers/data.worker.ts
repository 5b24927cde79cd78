/** The data worker: import, clean, split and tokenize, exposed to the page through comlink. */
import { expose } from 'comlink';
import { installErrorTransfer } from '../src/lib/shared/transfer';
import { api } from './data-api';

installErrorTransfer();

expose(api);
