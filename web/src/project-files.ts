/**
 * What the user gave the form, as files to upload: one .blend, one .zip, or
 * every file of a folder with its path inside the folder. A dropped folder is
 * walked through the File System entry API; a folder picked with
 * <input webkitdirectory> carries webkitRelativePath on each file.
 */

export type ProjectFile = { file: File; path: string };

/** What kind of project a set of files is, or a one-line reason it is none. */
export function projectKindOf(files: readonly ProjectFile[]): { kind: "blend" | "zip" | "folder" } | { error: string } {
  if (files.length === 0) return { error: "The folder is empty; choose a folder that holds a .blend file." };
  const single = files.length === 1 && !files[0]!.path.includes("/") ? files[0]! : undefined;
  if (single) {
    const lower = single.path.toLowerCase();
    if (lower.endsWith(".blend")) return { kind: "blend" };
    if (lower.endsWith(".zip")) return { kind: "zip" };
    return { error: `"${single.path}" is neither a .blend nor a .zip; choose a Blender file, a zipped project or a project folder.` };
  }
  if (!files.some((f) => f.path.toLowerCase().endsWith(".blend"))) {
    return { error: "The folder holds no .blend file; choose the project folder that holds your .blend." };
  }
  return { kind: "folder" };
}

/** Files picked with an ordinary or a folder (webkitdirectory) file input. */
export function filesOfInput(list: FileList | null): ProjectFile[] {
  return [...(list ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** Files of a drop: plain files, or whole folders walked recursively. */
export async function filesOfDrop(transfer: DataTransfer): Promise<ProjectFile[]> {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.()).filter((entry): entry is FileSystemEntry => Boolean(entry));
  if (entries.length === 0) return [...transfer.files].map((file) => ({ file, path: file.name }));
  const files: ProjectFile[] = [];
  for (const entry of entries) await walk(entry, files);
  return files;
}

async function walk(entry: FileSystemEntry, into: ProjectFile[]): Promise<void> {
  const path = entry.fullPath.replace(/^\//, "");
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    into.push({ file, path });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries answers in batches (about 100 at a time in Chromium) until it answers none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, into);
  }
}
