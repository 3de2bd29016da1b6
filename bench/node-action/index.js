// The bench's stand-in for the node actions people use instead of xctoken: an App Store
// Connect token signed with jose, the same header and claims as `xctoken generate`, masked,
// handed to later steps as an output and an environment variable. No validation, no
// options: the least a node action does. Written for bench/bench.py, not for use.
import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import { importPKCS8, SignJWT } from "jose";

// The runner passes `with:` inputs as INPUT_<NAME>, upper-cased, hyphens kept.
const input = (name) => (process.env[`INPUT_${name.toUpperCase()}`] || "").trim();

// A file command, as @actions/core writes one: NAME<<DELIMITER, the value, DELIMITER.
const fileCommand = (file, name, value) => {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  appendFileSync(process.env[file], `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
};

const raw = input("private-key");
const pem = raw.includes("-----BEGIN") ? raw : Buffer.from(raw, "base64").toString("utf8");
const key = await importPKCS8(pem, "ES256");
const issuedAt = Math.floor(Date.now() / 1000) - 60;
const token = await new SignJWT({ iss: input("issuer-id"), iat: issuedAt, exp: issuedAt + 1200, aud: "appstoreconnect-v1" })
  .setProtectedHeader({ alg: "ES256", kid: input("key-id"), typ: "JWT" })
  .sign(key);

process.stdout.write(`::add-mask::${token}\n`);
fileCommand("GITHUB_OUTPUT", "token", token);
fileCommand("GITHUB_ENV", input("env-name") || "APP_STORE_CONNECT_TOKEN", token);
