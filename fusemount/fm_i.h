/* fm_i.h: what the dfs-mount files share (being written). */
