import { describe, expect, it } from 'vitest';
import { expandEnv, MissingEnvVarError, redactUrl } from '../src/util/secrets.js';

describe('expandEnv', () => {
  it('replaces ${NAME} placeholders', () => {
    expect(expandEnv('postgres://${U}:${P}@h/db', { U: 'app', P: 's3cret' })).toBe('postgres://app:s3cret@h/db');
  });
  it('leaves text without placeholders alone', () => {
    expect(expandEnv('plain $HOME and $ {X}', {})).toBe('plain $HOME and $ {X}');
  });
  it('allows an empty value', () => {
    expect(expandEnv('a${E}b', { E: '' })).toBe('ab');
  });
  it('throws MissingEnvVarError naming the variable', () => {
    let caught: unknown;
    try {
      expandEnv('x ${DDBKIT_NOT_SET_VAR} y', {});
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MissingEnvVarError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as MissingEnvVarError).variable).toBe('DDBKIT_NOT_SET_VAR');
    expect((caught as Error).message).toContain('DDBKIT_NOT_SET_VAR');
  });
  it('uses process.env by default', () => {
    process.env.DDBKIT_TEST_VAR = 'v';
    try {
      expect(expandEnv('${DDBKIT_TEST_VAR}')).toBe('v');
    } finally {
      delete process.env.DDBKIT_TEST_VAR;
    }
  });
});

describe('redactUrl', () => {
  it('hides the password', () => {
    expect(redactUrl('postgres://u:secret@h/db')).toBe('postgres://u:***@h/db');
    expect(redactUrl('postgresql://u:secret@h:5433/db?sslmode=disable')).toBe('postgresql://u:***@h:5433/db?sslmode=disable');
  });
  it('handles a password containing @ and :', () => {
    expect(redactUrl('postgres://u:p@ss:w@h/db')).toBe('postgres://u:***@h/db');
  });
  it('leaves URLs without password unchanged', () => {
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(redactUrl('postgres://h/db')).toBe('postgres://h/db');
    expect(redactUrl('file:./sites/x.db')).toBe('file:./sites/x.db');
  });
  it('hides password= parameters', () => {
    expect(redactUrl('postgres://h/db?user=u&password=secret')).toBe('postgres://h/db?user=u&password=***');
  });
});
