// What this build is. The bundler refuses to sign a manifest whose version differs from this one.
export const FIRMWARE_VERSION = '0.1.0';
