/* dn-scan.c: the block scanner (being written). */
