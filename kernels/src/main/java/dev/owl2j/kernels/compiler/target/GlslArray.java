package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.ir.Type;

/** Where an array expression of a GLSL shader points: a buffer, a shared array or a private array, by its GLSL name. */
record GlslArray(String name, Type.Space space, Type.Prim elem, int length) {}
