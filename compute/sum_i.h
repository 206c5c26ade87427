/* sum_i.h */
