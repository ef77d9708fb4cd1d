// Type-checked (tsc --noEmit), never run: authgate/axios compiles as documented.
import axios from 'axios';
import { createAuthGate } from 'authgate';
import { routeThroughGate } from 'authgate/axios';

const gate = createAuthGate({ baseUrl: 'http://127.0.0.1:8000' });
const api = axios.create({ baseURL: 'http://127.0.0.1:8000' });
const unroute: () => void = routeThroughGate(api, gate);
routeThroughGate(axios, gate);
unroute();

function misuse(): void {
  // @ts-expect-error the instance comes first, then the gate
  routeThroughGate(gate, api);
  // @ts-expect-error an axios config is not an instance
  routeThroughGate({ baseURL: '/' }, gate);
  // @ts-expect-error it returns the uninstaller, not a promise
  void routeThroughGate(api, gate).then;
}
void misuse;
