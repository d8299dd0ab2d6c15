/** An estimate's spread: the value expected and the bounds it is likely to fall within. */
export type Range = { readonly low: number; readonly expected: number; readonly high: number };

export function scaleRange(range: Range, factor: number): Range {
  return { low: range.low * factor, expected: range.expected * factor, high: range.high * factor };
}

export function addRanges(...ranges: readonly Range[]): Range {
  return ranges.reduce((sum, r) => ({ low: sum.low + r.low, expected: sum.expected + r.expected, high: sum.high + r.high }), {
    low: 0,
    expected: 0,
    high: 0,
  });
}

/** Bound by bound product (low × low …): both factors are non-negative here. */
export function multiplyRanges(a: Range, b: Range): Range {
  return { low: a.low * b.low, expected: a.expected * b.expected, high: a.high * b.high };
}

export function constantRange(value: number): Range {
  return { low: value, expected: value, high: value };
}

/** Rounded for display and JSON: `digits` decimals on every bound. */
export function roundRange(range: Range, digits: number): Range {
  const factor = 10 ** digits;
  const round = (value: number) => Math.round(value * factor) / factor;
  return { low: round(range.low), expected: round(range.expected), high: round(range.high) };
}

/** US dollars for people: cents from $1 up, four decimals below (a small render costs fractions of a cent). */
export function formatDollars(amount: number): string {
  return amount >= 1 ? `$${amount.toFixed(2)}` : `$${amount.toFixed(4)}`;
}
