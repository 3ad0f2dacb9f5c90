// A custom operator for examples/data-quality.yaml: receives a batch of change records and its context
// ({ pipeline, node, logger, options }) and returns the records to pass on.

/** Tags every record with the configured tier. */
export function tagTier(records, context) {
  for (const record of records) {
    if (record.after) record.after = { ...record.after, tier: context.options.tier };
  }
  return records;
}
