/**
 * What keeps a `.env` file the extension wrote from other users, by platform, so the words shown
 * after a write claim only what holds (envWriter.ts).
 *
 * - `mode-0600`: where the OS has file modes, writeOwnerOnly (envLocation.ts) sets owner read and
 *   write only.
 * - `folder-acl`: on Windows, Node's file modes set only the read-only flag; the file gets the
 *   access list it inherits from its folder. A folder in the user's profile (`C:\Users\<name>`)
 *   lets only that user, SYSTEM and Administrators in; a folder elsewhere (`C:\projects`) usually
 *   lets every signed-in user read it. Nothing is claimed about the folder: the words say where
 *   the protection comes from.
 */
export type EnvFileProtection = 'mode-0600' | 'folder-acl';

export function envFileProtection(platform: NodeJS.Platform = process.platform): EnvFileProtection {
  return platform === 'win32' ? 'folder-acl' : 'mode-0600';
}
