import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { Decimal } from '../../../runtime/decimal.js';
import { SluiceError } from '../../../runtime/errors.js';
import type { Value } from '../../../runtime/record.js';
import { compileExpression, ExpressionError } from '../../../runtime/expression/index.js';
import { orderChange } from './record-fixture.js';

const record = orderChange(
  {
    id: 7,
    status: 'paid',
    amount: 150,
    currency: 'EUR',
    email: 'Ann@Example.COM',
    price: new Decimal('26.30'),
    big: 9007199254740993n,
    note: null,
    tags: ['new', 'vip'],
    meta: { channel: 'web', score: 0.5 },
    created: new Date('2024-05-01T10:20:30.456Z'),
    created_text: '2024-05-01T12:20:30+02:00',
    raw: new Uint8Array([104, 105]),
  },
  { id: 7, status: 'open', email: 'old@example.com' },
);

function run(text: string, extra?: Record<string, Value>, variables?: readonly string[]): Value {
  return compileExpression(text, { variables: variables ?? Object.keys(extra ?? {}) }).evaluate(
    record,
    extra,
  );
}

function invalidAt(text: string, offset: number, message: RegExp, variables?: readonly string[]): void {
  assert.throws(
    () => compileExpression(text, { variables }),
    (error: unknown) => {
      assert.ok(error instanceof ExpressionError && error instanceof SluiceError);
      assert.equal(error.code, 'EXPRESSION_INVALID');
      assert.equal(error.offset, offset, `offset for ${text}: ${error.message}`);
      assert.match(error.message, message);
      assert.equal(error.expression, text);
      return true;
    },
  );
}

function failsWith(text: string, message: RegExp): void {
  const compiled = compileExpression(text);
  assert.throws(
    () => compiled.evaluate(record),
    (error: unknown) => {
      assert.ok(error instanceof ExpressionError);
      assert.equal(error.code, 'EXPRESSION_EVAL');
      assert.equal(error.retriable, false);
      assert.ok(error.message.includes(JSON.stringify(text)), error.message);
      assert.match(error.message, message);
      return true;
    },
  );
}

void describe('variables and field access', () => {
  void test('reads the record variables', () => {
    assert.equal(run('op'), 'update');
    assert.deepEqual(run('key'), { id: 7 });
    assert.equal(run('before.status'), 'open');
    assert.equal(run('after.meta.channel'), 'web');
    assert.equal(run('source.table'), 'public.orders');
    assert.equal(run('source.partition'), 0);
    assert.equal(run('headers.traceparent'), '00-abc-def-01');
    assert.equal(run('after["currency"]'), 'EUR');
    assert.equal(run('after.tags[1]'), 'vip');
  });

  void test('a missing field, a field of null and an index out of range are null, not errors', () => {
    assert.equal(run('after.missing'), null);
    assert.equal(run('after.note.deeper.still'), null);
    assert.equal(run('after.tags[5]'), null);
    assert.equal(run('after["nope"]'), null);
    const deleted = compileExpression('after.status').evaluate(orderChange(null));
    assert.equal(deleted, null);
  });

  void test('extra variables come from the call, null when left out', () => {
    assert.equal(run('salt + "!"', { salt: 'pepper' }), 'pepper!');
    assert.equal(run('now_ms - 1000', { now_ms: 5000 }), 4000);
    assert.equal(compileExpression('salt', { variables: ['salt'] }).evaluate(record), null);
  });

  void test('has() tells a present key (even with null) from a missing one', () => {
    assert.equal(run('has(after.note)'), true);
    assert.equal(run('has(after.missing)'), false);
    assert.equal(run('has(after.meta.channel)'), true);
    assert.equal(run('has(after.note.x)'), false);
  });
});

void describe('operators', () => {
  void test('equality: null == null, numbers of every kind by value, different types unequal', () => {
    assert.equal(run('null == null'), true);
    assert.equal(run('after.note == null'), true);
    assert.equal(run('after.missing != null'), false);
    assert.equal(run('after.price == 26.3'), true);
    assert.equal(run('after.price == 26.31'), false);
    assert.equal(run('after.big == 9007199254740993'), true);
    assert.equal(run('after.big == 9007199254740992'), false);
    assert.equal(run('after.amount == 150'), true);
    assert.equal(run('after.amount == "150"'), false);
    assert.equal(run('after.tags == ["new", "vip"]'), true);
    assert.equal(run('after.meta == {"channel": "web", "score": 0.5}'), true);
    assert.equal(run('after.created == timestamp("2024-05-01T10:20:30.456Z")'), true);
  });

  void test('comparisons: numbers exactly, strings, timestamps with RFC 3339 text; false with null', () => {
    assert.equal(run('after.amount > 100'), true);
    assert.equal(run('100 < after.amount'), true);
    assert.equal(run('after.price >= 26.3'), true);
    assert.equal(run('after.price > 26.3'), false);
    assert.equal(run('after.big > 9007199254740992'), true);
    assert.equal(run('"abc" < "abd"'), true);
    assert.equal(run('after.created > "2024-05-01T10:00:00Z"'), true);
    assert.equal(run('after.note > 1'), false);
    assert.equal(run('after.note <= 1'), false);
    assert.equal(run('after.missing < after.missing'), false);
    failsWith('after.status > 1', /> cannot compare string with int/);
  });

  void test('&& and || short-circuit and read null as false; ! and ternary too', () => {
    assert.equal(run('after.status == "paid" && after.amount > 100'), true);
    assert.equal(run('after.note && true'), false);
    assert.equal(run('after.note || true'), true);
    assert.equal(run('false && sha256(after.meta) == ""'), false);
    assert.equal(run('true || sha256(after.meta) == ""'), true);
    assert.equal(run('!after.note'), true);
    assert.equal(run('after.amount > 100 ? "big" : "small"'), 'big');
    assert.equal(run('after.note ? 1 : 2'), 2);
    failsWith('after.status && true', /&& needs a bool .*got string/);
  });

  void test('in: lists and map keys', () => {
    assert.equal(run('after.currency in ["EUR", "USD"]'), true);
    assert.equal(run('after.currency in ["GBP"]'), false);
    assert.equal(run('150 in [1, after.amount]'), true);
    assert.equal(run('"vip" in after.tags'), true);
    assert.equal(run('"channel" in after.meta'), true);
    assert.equal(run('"nope" in after.meta'), false);
    assert.equal(run('"x" in after.note'), false);
  });

  void test('arithmetic: floats for numbers, exact for decimals and bigints, null in null out', () => {
    assert.equal(run('after.amount * 2 + 1'), 301);
    assert.equal(run('7 / 2'), 3.5);
    assert.equal(run('7 % 3'), 1);
    assert.equal(run('-after.amount'), -150);
    assert.deepEqual(run('after.price + 1'), new Decimal('27.30'));
    assert.deepEqual(run('after.price * 2'), new Decimal('52.60'));
    assert.deepEqual(run('after.price - 0.3'), new Decimal('26.00'));
    assert.deepEqual(run('-after.price'), new Decimal('-26.30'));
    assert.equal(run('after.big + 1'), 9007199254740994n);
    assert.equal(run('after.big - 2'), 9007199254740991);
    assert.equal(run('after.note + 1'), null);
    assert.equal(run('after.email + "!"'), 'Ann@Example.COM!');
    assert.deepEqual(run('after.tags + ["x"]'), ['new', 'vip', 'x']);
    failsWith('after.amount / 0', /division by zero/);
    failsWith('after.amount % 0', /modulo by zero/);
    failsWith('after.email + 1', /\+ joins a string only with a string/);
  });

  void test('literals: lists, maps (keys stay data, never prototypes), bytes, unsigned', () => {
    assert.deepEqual(run('[1, "a", null, true]'), [1, 'a', null, true]);
    const map = run('{"__proto__": 1, "a": after.amount}') as Record<string, Value>;
    assert.equal(Object.getPrototypeOf(map), Object.prototype);
    assert.deepEqual(Object.keys(map), ['__proto__', 'a']);
    assert.equal(map.a, 150);
    assert.deepEqual(run('b"hi"'), new Uint8Array([104, 105]));
    assert.equal(run('3u + 1'), 4);
  });

  void test('comprehensions over lists and map keys', () => {
    assert.equal(run('after.tags.exists(t, t == "vip")'), true);
    assert.equal(run('after.tags.all(t, size(t) == 3)'), true);
    assert.equal(run('after.tags.exists_one(t, t.startsWith("n"))'), true);
    assert.deepEqual(run('after.tags.map(t, upper(t))'), ['NEW', 'VIP']);
    assert.deepEqual(run('after.tags.map(t, t != "new", t + "!")'), ['vip!']);
    assert.deepEqual(run('after.tags.filter(t, t.contains("i"))'), ['vip']);
    assert.deepEqual(run('after.meta.filter(k, k == "score")'), ['score']);
    assert.equal(run('after.note.exists(t, t == 1)'), false);
    assert.equal(run('[1, 2].all(after, after > 0)'), true);
  });
});

void describe('functions', () => {
  void test('strings', () => {
    assert.equal(run('size("héllo")'), 5);
    assert.equal(run('len("😀a")'), 2);
    assert.equal(run('after.tags.size()'), 2);
    assert.equal(run('lower(after.email).endsWith("@example.com")'), true);
    assert.equal(run('upper("abc")'), 'ABC');
    assert.equal(run('trim("  a b ")'), 'a b');
    assert.equal(run('after.email.contains("@")'), true);
    assert.equal(run('startsWith(after.email, "Ann")'), true);
    assert.equal(run('replace("a.b.c", ".", "-")'), 'a-b-c');
    assert.equal(run('substring("abcdef", 1, 3)'), 'bc');
    assert.equal(run('substring("abcdef", 4)'), 'ef');
    assert.equal(run('substring("a😀bc", 1, 2)'), '😀');
    assert.equal(run('substring("abc", 2, 99)'), 'c');
    assert.deepEqual(run('split("a,b,,c", ",")'), ['a', 'b', '', 'c']);
    assert.equal(run('join(after.tags, "|")'), 'new|vip');
    assert.equal(run('after.email.matches("^[^@]+@example\\\\.com$")'), false);
    assert.equal(run('after.email.matches("(?i)^[^@]+@example\\\\.com$")'), true);
    assert.equal(run('matches("abc", pattern)', { pattern: 'b' }), true);
    assert.equal(run('concat("a", after.note, 1, after.price)'), 'a126.30');
    assert.equal(run('lower(after.note)'), null);
    failsWith('lower(after.amount)', /lower\(\) needs a string, got int/);
    failsWith('join([1], ",")', /join\(\) needs a string, got int/);
  });

  void test('math', () => {
    assert.equal(run('abs(-3.5)'), 3.5);
    assert.deepEqual(run('abs(decimal("-1.50"))'), new Decimal('1.50'));
    assert.equal(run('ceil(1.2)'), 2);
    assert.equal(run('floor(-1.2)'), -2);
    assert.equal(run('floor(after.price)'), 26);
    assert.equal(run('round(2.5)'), 3);
    assert.equal(run('round(-2.5)'), -3);
    assert.equal(run('round(1.005, 2)'), 1.01);
    assert.deepEqual(run('round(after.price, 1)'), new Decimal('26.3'));
    assert.equal(run('min(3, after.note, 1.5, 2)'), 1.5);
    assert.equal(run('max(after.tags)'), 'vip');
    assert.equal(run('max(after.note)'), null);
    assert.equal(run('int(-2.9)'), -2);
    assert.equal(run('int(" 42 ")'), 42);
    assert.equal(run('int("123456789012345678901")'), 123456789012345678901n);
    assert.equal(run('int(after.created)'), 1714558830);
    assert.equal(run('double("1.5e3")'), 1500);
    assert.equal(run('double(after.price)'), 26.3);
    assert.deepEqual(run('decimal("0.10")'), new Decimal('0.10'));
    assert.equal(run('decimal(0.1) + decimal("0.2")'), 0.3);
    assert.equal(run('0.1 + 0.2'), 0.1 + 0.2);
    failsWith('int("1.5")', /int\(\) needs an integer text, got "1.5"/);
    failsWith('decimal("abc")', /decimal\(\) needs a finite number or a numeric text, got "abc"/);
    failsWith('round(1, -1)', /round\(\) needs 0 to 100 digits/);
  });

  void test('null handling', () => {
    assert.equal(run('coalesce(after.missing, before.email, "")'), 'old@example.com');
    assert.equal(run('coalesce(after.note, null)'), null);
    assert.equal(run('coalesce(after.status, sha256(after.meta))'), 'paid');
    assert.equal(run('is_null(after.note)'), true);
    assert.equal(run('is_null(after.status)'), false);
    assert.equal(run('default(after.note, 0)'), 0);
    assert.equal(run('after.status.default("x")'), 'paid');
  });

  void test('dates', () => {
    assert.deepEqual(run('timestamp("2024-05-01T12:20:30+02:00")'), new Date('2024-05-01T10:20:30Z'));
    assert.deepEqual(run('timestamp("2024-05-01")'), new Date('2024-05-01T00:00:00Z'));
    assert.deepEqual(run('timestamp("2024-05-01 10:20:30.123456")'), new Date('2024-05-01T10:20:30.123Z'));
    assert.equal(run('year(after.created)'), 2024);
    assert.equal(run('month(after.created)'), 5);
    assert.equal(run('day(after.created)'), 1);
    assert.equal(run('hour(after.created_text)'), 10);
    assert.equal(run('minute(after.created)'), 20);
    assert.equal(run('second(after.created)'), 30);
    assert.equal(run('epoch_ms(after.created)'), 1714558830456);
    assert.equal(run('format_date(after.created)'), '2024-05-01T10:20:30.456Z');
    assert.equal(
      run('format_date(after.created_text, "YYYY-MM-DD HH:mm:ss.SSS")'),
      '2024-05-01 10:20:30.000',
    );
    assert.equal(run('epoch_ms(now)', { now: new Date(5) }), 5);
    failsWith('timestamp("2024-02-30")', /timestamp\(\) needs an RFC 3339 timestamp, got "2024-02-30"/);
    failsWith('year(after.amount)', /year\(\) needs a timestamp or an RFC 3339 string, got int/);
  });

  void test('hashing gives lower-case hex of the UTF-8 text', () => {
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    assert.equal(run('sha256(after.email + salt)', { salt: 's1' }), sha('Ann@Example.COMs1'));
    assert.equal(run('md5("abc")'), createHash('md5').update('abc').digest('hex'));
    assert.equal(
      run('hmac_sha256(after.email, "k")'),
      createHmac('sha256', 'k').update('Ann@Example.COM').digest('hex'),
    );
    assert.equal(run('sha256(after.raw)'), sha('hi'));
    assert.equal(run('sha256(after.price)'), sha('26.30'));
    assert.equal(run('sha256(after.note)'), null);
    failsWith('sha256(after.meta)', /sha256\(\) needs a string, bytes or a number, got map/);
  });

  void test('type() and string()', () => {
    const types =
      'type(null) + type(true) + type(1) + type(1.5) + type(after.price) + type("") + type(after.raw) + type(after.created) + type([]) + type({})';
    assert.equal(run(types), 'nullboolintdoubledecimalstringbytestimestamplistmap');
    assert.equal(run('type(after.big)'), 'int');
    assert.equal(run('string(after.price)'), '26.30');
    assert.equal(run('string(after.big)'), '9007199254740993');
    assert.equal(run('string(after.created)'), '2024-05-01T10:20:30.456Z');
    assert.equal(run('string(after.raw)'), 'hi');
    assert.equal(run('string(after.meta)'), '{"channel":"web","score":0.5}');
    assert.equal(run('string(true) + string(1.5)'), 'true1.5');
    assert.equal(run('string(after.note)'), null);
  });
});

void describe('compile errors carry the offset and say what was expected', () => {
  void test('syntax errors', () => {
    invalidAt('after.amount >', 14, /ends too early: expected an operand/);
    invalidAt('(1 + 2', 6, /expected '\)', got the end of the expression/);
    invalidAt('after.status == "paid" "x"', 23, /expected an operator or the end of the expression/);
    invalidAt('after.', 6, /expected a name/);
    invalidAt('"abc', 0, /unterminated string/);
    invalidAt('   ', 0, /expected an expression, got nothing/);
  });

  void test('unknown variables and functions suggest the nearest name', () => {
    invalidAt(
      'aftr.status == "paid"',
      0,
      /unknown variable 'aftr' \(did you mean 'after'\?\); expected one of op, key, before, after, source, headers/,
    );
    invalidAt('after.amount > limt', 15, /unknown variable 'limt' \(did you mean 'limit'\?\)/, ['limit']);
    invalidAt('lowr(after.email)', 0, /unknown function 'lowr' \(did you mean 'lower'\?\)/);
    invalidAt('after.email.endswith("x")', 12, /unknown function 'endswith' \(did you mean 'endsWith'\?\)/);
    invalidAt('now() > 1', 0, /unknown function 'now'/);
  });

  void test('wrong arity, invalid regex, misused macros and reserved variable names', () => {
    invalidAt('lower(after.email, 1)', 0, /lower\(\) takes 1 argument, got 2: lower\(s\) → string/);
    invalidAt(
      'after.email.substring()',
      12,
      /substring\(\) takes 2 to 3 arguments \(counting the value before the dot\), got 1/,
    );
    invalidAt('coalesce()', 0, /coalesce\(\) takes at least 1 argument/);
    invalidAt('after.email.matches("a(b")', 20, /invalid regular expression "a\(b"/);
    invalidAt('matches(after.email, "(a)\\\\1")', 21, /backreference/);
    invalidAt('matches(after.email, "(?=a)")', 21, /lookaround/);
    invalidAt('has(after)', 0, /has\(\) takes one field selection/);
    invalidAt('after.x.?y', 8, /expected a name/);
    invalidAt('1', 0, /extra variable "after" must be a name/, ['after']);
    invalidAt('1', 0, /extra variable "a-b" must be a name/, ['a-b']);
  });
});
