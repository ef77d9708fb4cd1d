// Type-checked (tsc --strict --noEmit), never run: the declarations say what the code does.
// Each block fails to compile if its declaration goes back to what it was before.
import { AuthGateError, createAuthGate } from 'authgate';
import type { AuthGateOptions, Diagnosis } from 'authgate';

// ---- option arrays are readonly: `as const` lists are accepted, and never mutated
const PROTECT = ['/api'] as const;
const PUBLIC = ['/api/auth/login', '/api/auth/refresh'] as const;
const TRUSTED = ['https://files.example'] as const;
const ACCESS_FIELDS = ['access', 'access_token'] as const;
const options: AuthGateOptions = {
  baseUrl: 'https://api.example',
  protect: PROTECT,
  public: PUBLIC,
  trustedOrigins: TRUSTED,
  tokenFields: { access: ACCESS_FIELDS, refresh: ['refresh'] as const, expiresIn: ['expires_in'] as const },
};
// @ts-expect-error the gate never writes to the caller's arrays, and says so
options.protect?.push('/admin');
// @ts-expect-error the same for tokenFields
options.tokenFields?.access?.push('token');

const gate = createAuthGate(options);

// ---- login() takes any object of string fields, an interface-typed one too
interface Credentials {
  username: string;
  password: string;
}
interface Remembered {
  username: string;
  remember: boolean;
}
async function logins(credentials: Credentials, remembered: Remembered, form: Record<string, string>): Promise<void> {
  await gate.login(credentials);
  await gate.login(form);
  await gate.login({ username: 'ada', password: 'secret' } as const);
  // @ts-expect-error a field that is not a string has no place in the login body
  await gate.login(remembered);
  // @ts-expect-error nor has a number
  await gate.login({ username: 'ada', pin: 1234 });
}
void logins;

// ---- AuthGateError's code and status are facts about a failure: readonly
function mutate(e: AuthGateError): void {
  // @ts-expect-error code is readonly
  e.code = 'NO_TOKEN';
  // @ts-expect-error status is readonly
  e.status = 500;
  const code: AuthGateError['code'] = e.code;
  const status: number | undefined = e.status;
  void [code, status];
}
void mutate;

// ---- Diagnosis: origin is the probed URL's, pageOrigin the page's; one field per fact
async function diagnosis(): Promise<void> {
  const d: Diagnosis = await gate.diagnose('/api/me');
  const target: string = d.origin;
  const page: string = d.pageOrigin;
  const sendsToken: boolean = d.protected;
  const allowed: string = d.serverMustAllow.origin;
  void [target, page, sendsToken, allowed];
  // @ts-expect-error sendsToken was always equal to protected: gone
  void d.sendsToken;
  // @ts-expect-error the URL's origin is `origin`, not an untyped `target`
  void d.target;
}
void diagnosis;
