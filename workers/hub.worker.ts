/** The Hub worker: model inspection and downloads, exposed to the page through comlink. */
import { expose } from 'comlink';
import { installErrorTransfer } from '../src/lib/shared/transfer';
import { api } from './hub-api';

installErrorTransfer();

expose(api);
