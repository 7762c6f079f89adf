/** Refusals of the platform layer: files read from a medium (shared by every domain that reads one), the native addon path. */
export const PLATFORM_ERROR_CODES = [
  'FILE_NOT_FOUND',
  'FILE_NOT_REGULAR',
  'FILE_IS_SYMLINK',
  'FILE_TOO_LARGE',
  'FILE_UNREADABLE',
  'FILE_WRITE_FAILED',
  'ADDON_PATH_REFUSED',
] as const;
