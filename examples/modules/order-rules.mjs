// Custom validation rules for examples/data-quality.yaml. A rule function receives (value, record) and returns
// true (passes), false (fails) or a reason (fails, with that reason in the dead-letter entry).

/** Large orders need a named customer. */
export function largeOrderHasCustomer(value, record) {
  const amount = Number(String(record.after.amount));
  if (amount >= 400 && !record.after.customer_name) return `order of ${amount} has no customer name`;
  return true;
}
