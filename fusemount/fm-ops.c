/* fm-ops.c: the FUSE file system (being written). */
