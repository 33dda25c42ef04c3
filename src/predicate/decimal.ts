/**
 * Exact decimal numbers (n × 10^-scale with a bigint n), so that reasoning over numeric and
 * floating-point columns never suffers from binary rounding: `price > 0.1` must mean 0.1.
 */
export interface Decimal {
  readonly n: bigint;
  readonly scale: number;
}

const DECIMAL_TEXT = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL_TEXT.exec(text.trim());
  if (!m) return undefined;
  const [, sign, intPart = '', fracPart = '', exp] = m;
  if (intPart === '' && fracPart === '') return undefined;
  let scale = fracPart.length - (exp ? Number(exp) : 0);
  let digits = BigInt((intPart || '0') + fracPart);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return normalize({ n: sign === '-' ? -digits : digits, scale });
}

/** Drops trailing zeros so that equal numbers have equal representations. */
export function normalize(d: Decimal): Decimal {
  let { n, scale } = d;
  while (scale > 0 && n % 10n === 0n) {
    n /= 10n;
    scale -= 1;
  }
  return { n, scale };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.n * 10n ** BigInt(scale - a.scale), b.n * 10n ** BigInt(scale - b.scale), scale];
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The number halfway between a and b: exact, since halving needs one more decimal digit. */
export function midpoint(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return normalize({ n: (x + y) * 5n, scale: scale + 1 });
}

export function addInteger(a: Decimal, k: bigint): Decimal {
  return normalize({ n: a.n + k * 10n ** BigInt(a.scale), scale: a.scale });
}

/** Expresses d as a multiple of 10^-scale: the floor of that multiple, and whether it is exact. */
export function toScaledInteger(d: Decimal, scale: number): { floor: bigint; exact: boolean } {
  if (d.scale <= scale) return { floor: d.n * 10n ** BigInt(scale - d.scale), exact: true };
  const divisor = 10n ** BigInt(d.scale - scale);
  let q = d.n / divisor;
  const exact = d.n % divisor === 0n;
  if (!exact && d.n < 0n) q -= 1n; // bigint division truncates toward zero; we want the floor
  return { floor: q, exact };
}

export function decimalToString(d: Decimal): string {
  const negative = d.n < 0n;
  const digits = (negative ? -d.n : d.n).toString().padStart(d.scale + 1, '0');
  const text = d.scale === 0 ? digits : `${digits.slice(0, -d.scale)}.${digits.slice(-d.scale)}`;
  return negative ? `-${text}` : text;
}

export function scaledToString(n: bigint, scale: number): string {
  return decimalToString({ n, scale });
}
