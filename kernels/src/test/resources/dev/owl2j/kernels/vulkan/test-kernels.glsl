#version 450
// Hand-written compute shaders that test the Vulkan device layer (not the model's kernels). The work-group
// size comes from specialization constants 0-2, buffers bind in argument order, scalars are push constants.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

//!kernel saxpy
// y = a*x + y over n elements: two buffers and two scalars of different types.
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform P { float a; int n; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < uint(p.n)) y[i] = p.a * x[i] + y[i];
}

//!kernel group_sum
// One partial sum per work group through shared memory and barriers; works for any power-of-two group size
// up to 256, chosen per launch through the specialization constant.
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer S { float sums[]; };
layout(push_constant) uniform P { int n; } p;
shared float part[256];
void main() {
    uint l = gl_LocalInvocationID.x;
    uint i = gl_GlobalInvocationID.x;
    part[l] = i < uint(p.n) ? x[i] : 0.0;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (l < s) part[l] += part[l + s];
        barrier();
    }
    if (l == 0) sums[gl_WorkGroupID.x] = part[0];
}

//!kernel put_at
// table[params[0]] = params[1] * 10 + table[params[0]]: a per-step position and value read from a buffer.
layout(std430, binding = 0) readonly buffer Params { int params[]; };
layout(std430, binding = 1) buffer T { int table[]; };
void main() {
    if (gl_GlobalInvocationID.x == 0) table[params[0]] = params[1] * 10 + table[params[0]];
}

//!kernel prefix_total
// total[0] = sum of table[0..n), total[1] = the scalar tag: depends on put_at's write (needs a barrier).
layout(std430, binding = 0) readonly buffer T { int table[]; };
layout(std430, binding = 1) writeonly buffer Total { int total[]; };
layout(push_constant) uniform P { int n; int tag; } p;
void main() {
    if (gl_GlobalInvocationID.x == 0) {
        int s = 0;
        for (int i = 0; i < p.n; i++) s += table[i];
        total[0] = s;
        total[1] = p.tag;
    }
}

//!kernel grid2d
// out[y * w + x] = x + 1000 * y for a 2-D grid with 2-D work groups.
layout(std430, binding = 0) writeonly buffer O { int o[]; };
layout(push_constant) uniform P { int w; int h; } p;
void main() {
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x < uint(p.w) && g.y < uint(p.h)) o[g.y * uint(p.w) + g.x] = int(g.x) + 1000 * int(g.y);
}
