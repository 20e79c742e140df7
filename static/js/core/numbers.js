// The one number every store and view scales by: the largest magnitude in an array (its
// first `count` values), 0 for none. In core so that the trace store needs nothing above it.
export function maxAbs(data, count = data.length) {
  let max = 0;
  for (let n = 0; n < count; n++) {
    const v = data[n] < 0 ? -data[n] : data[n];
    if (v > max) max = v;
  }
  return max;
}
