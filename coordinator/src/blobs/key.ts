/** Keys every store accepts, so blobs can move between stores: lowercase path segments, no `..`. */
const KEY = /^[a-z0-9][a-z0-9/_.-]{0,200}$/;

export function assertBlobKey(key: string): void {
  if (!KEY.test(key) || key.includes('..')) throw new Error(`invalid blob key: ${JSON.stringify(key)}`);
}
