/**
 * A simple-protocol query for node-postgres that keeps each DataRow's field array as the row.
 *
 * node-postgres's own Query copies every row into a second array through a parser per value and
 * emits an event per row: for a large result (85k customers, 340k order totals) that is a
 * quarter to a third of the client's CPU, spent before ddbkit reads a value. This class is a
 * "submittable" (the extension point pg-cursor and pg-query-stream use): the client hands it the
 * protocol messages and it keeps the server's text values as they arrive.
 */
import type { RawResult } from './family.js';

interface Connection {
  query(text: string): void;
  sendCopyFail(message: string): void;
}

/** `SELECT 5`, `INSERT 0 3`, `UPDATE 2`: the row count is the last number. */
const COMMAND_TAG = /^[A-Za-z]+(?: (\d+))?(?: (\d+))?/;

export class RawTextQuery {
  readonly done: Promise<RawResult>;
  private resolve!: (r: RawResult) => void;
  private reject!: (e: unknown) => void;
  private fields: RawResult['fields'] = [];
  private rows: unknown[][] = [];
  /** The result of the last statement completed (a message may hold several statements). */
  private last: RawResult = { fields: [], rows: [] };
  private settled = false;

  constructor(private readonly text: string) {
    this.done = new Promise<RawResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleRowDescription(msg: { fields: Array<{ name: string; dataTypeID: number }> }): void {
    this.fields = msg.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
    this.rows = [];
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    this.rows.push(msg.fields);
  }

  handleCommandComplete(msg: { text?: string }): void {
    const tag = COMMAND_TAG.exec(msg.text ?? '');
    const count = tag?.[2] ?? tag?.[1];
    this.last = { fields: this.fields, rows: this.rows, ...(count === undefined ? {} : { rowCount: Number(count) }) };
    this.fields = [];
    this.rows = [];
  }

  handleEmptyQuery(): void {
    this.last = { fields: [], rows: [] };
  }

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: Connection): void {
    connection.sendCopyFail('COPY FROM STDIN is not read through a plain query');
  }

  handleCopyData(): void {}

  /** An error message, or the connection failing: the client forgets the query after this call. */
  handleError(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(this.last);
  }
}
