/**
 * The `operators:` section of the benchmarks' order chain — filter (not cancelled) → transform (rename, set
 * `amount_cents`, drop) → validate (5 rules, failures to the DLQ) — ending in the node `checks`. Shared by the
 * `operators`, `workers-light` and `kafka-pg` scenarios. `amountCents` is the expression that sets `amount_cents`
 * (`round(...)` where amounts arrive as JSON doubles: `int(297.53 * 100)` is 29752).
 */
export function operatorsChainYaml(amountCents = 'int(after.amount * 100)'): string {
  return `operators:
  open: { from: orders, type: filter, where: 'after.status != "cancelled"' }
  shape:
    from: open
    type: transform
    rename: { customer: customer_name }
    set: { amount_cents: '${amountCents}' }
    drop: [note]
  checks:
    from: shape
    type: validate
    rules:
      - { name: email_present, field: email, not_null: true, action: dlq }
      - { name: email_shape, field: email, regex: '^[^@\\s]+@[^@\\s]+\\.[a-z]+$', action: dlq }
      - { name: amount_range, field: amount, range: { min: 0, max: 10000 }, action: dlq }
      - { name: currency, field: currency, in: [EUR, USD, GBP], action: dlq }
      - { name: name_length, field: customer_name, length: { max: 100 }, action: dlq }`;
}
