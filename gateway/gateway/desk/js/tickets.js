// Signed tickets checked in the browser (offline): `PASSCULTURE:v4;<compact JWS>`, EdDSA
// (Ed25519) with WebCrypto, against the keys of /v1/tickets/jwks.json.

const V4 = "PASSCULTURE:v4;";
const CLAIMS = { cm: "string", bid: "string", sid: "string", vid: "string", st: "number", q: "number" };

export const isSigned = (text) => text.trim().startsWith(V4);

function bytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

const json = (part) => JSON.parse(new TextDecoder().decode(bytes(part)));

/** The JWKS's Ed25519 keys, by `kid`. */
export async function importKeys(jwks) {
  const keys = new Map();
  for (const jwk of jwks.keys) {
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") continue;
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    keys.set(jwk.kid, key);
  }
  return keys;
}

/** The claims of a ticket one of the keys signed; null for anything else. */
export async function verify(text, keys) {
  const parts = text.trim().slice(V4.length).split(".");
  if (parts.length !== 3) return null;
  try {
    const header = json(parts[0]);
    const key = keys.get(header.kid);
    if (header.alg !== "EdDSA" || !key) return null;
    const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, bytes(parts[2]), signed))) {
      return null;
    }
    const claims = json(parts[1]);
    const complete = Object.entries(CLAIMS).every(([name, type]) => typeof claims[name] === type);
    return complete ? claims : null;
  } catch {
    return null; // not base64url, not JSON
  }
}
