// Request shape of registration (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { Email, Name, Password, strict } from '../auth/index.ts';

export const RegisterBody = Type.Object({ email: Email, password: Password, name: Type.Optional(Name) }, strict);
