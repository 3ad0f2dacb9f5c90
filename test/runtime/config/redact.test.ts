import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redact } from '../../../runtime/redact.js';

test('redact hides each secret, its JSON and URL-encoded forms, and URL passwords', () => {
  assert.equal(
    redact('login with hunter2-long and again hunter2-long', ['hunter2-long']),
    'login with *** and again ***',
  );
  assert.equal(redact('{"pw":"a\\"quoted\\"secret"}', ['a"quoted"secret']), '{"pw":"***"}');
  assert.equal(redact('dsn=postgres://u:p%40ss-word@h/db', ['p@ss-word']), 'dsn=postgres://u:***@h/db');
  assert.equal(redact('kafka://svc:unlisted@broker:9092', []), 'kafka://svc:***@broker:9092');
});

test('short secrets are hidden only as whole words', () => {
  assert.equal(
    redact('pin 1234 in pin12345; p stands alone, apple stays', ['1234', 'p']),
    'pin *** in pin12345; *** stands alone, apple stays',
  );
});
