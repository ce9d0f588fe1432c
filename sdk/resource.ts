// The base of every generated resource class (resources.ts): each method is one operation of the
// generated table (operations.ts), called through the client's transport.
import type { Transport } from './transport.ts';

export abstract class Resource {
  protected readonly _transport: Transport;

  constructor(transport: Transport) {
    this._transport = transport;
  }
}
