/* fm-file.c: the FUSE file system (being written). */
