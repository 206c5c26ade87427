/* dn-reduce.c: in-place reductions (being written). */
