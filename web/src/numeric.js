// Python's rounding in JavaScript: the runtime rounds frame counts and resampled frame indices with
// round() and np.round, which round halves to even (2.5 -> 2); Math.round would give 3.

/** x rounded to the nearest integer, halves to the even neighbour. */
export function roundHalfEven(x) {
  const floor = Math.floor(x);
  const rest = x - floor; // exact for doubles
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
