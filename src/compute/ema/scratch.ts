// Full-length working arrays of one (asset, timeframe) call, reused across its periods.

export interface Scratch {
  ema: Float64Array;
  roll: Uint8Array;
  d1: Float64Array;
  d2: Float64Array;
  d1r: Float64Array;
  d2r: Float64Array;
  emaBar: Float64Array;
  rollBar: Uint8Array;
  d1b: Float64Array;
  d2b: Float64Array;
  d1rb: Float64Array;
  d2rb: Float64Array;
}

const EMPTY_F = new Float64Array(0);
const EMPTY_U = new Uint8Array(0);

export function scratch(n: number, dual: boolean): Scratch {
  const f = () => new Float64Array(n);
  return {
    ema: f(), roll: new Uint8Array(n), d1: f(), d2: f(), d1r: f(), d2r: f(),
    emaBar: dual ? f() : EMPTY_F, rollBar: dual ? new Uint8Array(n) : EMPTY_U,
    d1b: dual ? f() : EMPTY_F, d2b: dual ? f() : EMPTY_F, d1rb: dual ? f() : EMPTY_F, d2rb: dual ? f() : EMPTY_F,
  };
}
