from libc.stdint cimport int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t

# Every dtype max pooling, argmax and the max gradient take (float16 is float32 here:
# the kernels widen its bits a row at a time, or Python widens the whole array).
ctypedef fused max_t:
    float
    double
    int8_t
    uint8_t
    int16_t
    uint16_t
    int32_t
    uint32_t
    int64_t
    uint64_t

# Average pooling and its gradient.
ctypedef fused avg_t:
    float
    double
