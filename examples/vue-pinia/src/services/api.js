import axios from 'axios';
import { routeThroughGate } from 'authgate/axios';
import { apiUrl, gate } from '../gate.js';

// Every axios instance, the default one included, sends through the gate: one token store,
// one refresh, no instance without the Authorization header (a second instance cannot drift).
export const api = axios.create({ baseURL: apiUrl });
routeThroughGate(api, gate);
routeThroughGate(axios, gate);
