/**
 * The host-side pieces of the forward pass that every backend shares, so the CPU engine (package cpu) and the
 * device engine (module runtime) compute them the same way: the image splice and modality flags
 * ({@link dev.owl2j.model.host.Splice}), the patch matrix of an image ({@link dev.owl2j.model.host.Patches}),
 * the rotary tables ({@link dev.owl2j.model.host.RopeTables}) and the abstractor's fixed position tables
 * ({@link dev.owl2j.model.host.SinCosPositions}). Facts: docs/model.md.
 */
package dev.owl2j.model.host;
