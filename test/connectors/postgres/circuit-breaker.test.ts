import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../../connectors/postgres/circuit-breaker.js';

function breaker() {
  let now = 1_000;
  const circuit = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 500, now: () => now });
  return { circuit, advance: (ms: number) => (now += ms) };
}

test('stays closed below the threshold and a success resets the count', () => {
  const { circuit } = breaker();
  for (let round = 0; round < 3; round++) {
    circuit.admit('call');
    circuit.failed(new Error('refused'));
    circuit.admit('call');
    circuit.failed(new Error('refused'));
    circuit.admit('call');
    circuit.succeeded();
  }
  assert.equal(circuit.state, 'closed');
  assert.deepEqual(circuit.health(), { ok: true });
});

test('opens after N consecutive failures and refuses calls as retriable SINK_UNAVAILABLE', () => {
  const { circuit, advance } = breaker();
  for (let count = 0; count < 3; count++) {
    circuit.admit('call');
    circuit.failed(new Error('ECONNREFUSED'));
  }
  assert.equal(circuit.state, 'open');
  advance(200);
  assert.throws(() => circuit.admit('write'), {
    code: 'SINK_UNAVAILABLE',
    retriable: true,
    message: /3 consecutive failures \(last: ECONNREFUSED\).*another 300 ms/,
  });
  assert.deepEqual(circuit.health(), {
    ok: false,
    reason: 'circuit open after 3 consecutive failures: ECONNREFUSED',
  });
});

test('after the cool-down one probe passes; success closes, failure reopens for a new cool-down', () => {
  const { circuit, advance } = breaker();
  for (let count = 0; count < 3; count++) circuit.failed(new Error('down'));
  advance(500);
  circuit.admit('probe');
  assert.equal(circuit.state, 'half-open');
  assert.throws(() => circuit.admit('second'), /while a probe is in flight/);
  circuit.failed(new Error('still down'));
  assert.equal(circuit.state, 'open');
  advance(499);
  assert.throws(() => circuit.admit('early'), /another 1 ms/);
  advance(1);
  circuit.admit('probe');
  circuit.succeeded();
  assert.equal(circuit.state, 'closed');
  circuit.admit('normal');
});
