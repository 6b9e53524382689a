import { describe, expect, it } from 'vitest';
import { INTERFACE_BY_NAME } from '../driver/interface-functions.ts';
import { expectedStdcallBytes, undecorate } from './decorate.ts';

describe('x86 name decoration', () => {
  it('recognises MSVC and mingw stdcall, fastcall and vectorcall; leaves other names alone', () => {
    expect(undecorate('_Buy4442Card@28')).toEqual({
      base: 'Buy4442Card',
      decoration: 'stdcall-underscore',
      argBytes: 28,
    });
    expect(undecorate('Buy4442Card@28')).toEqual({ base: 'Buy4442Card', decoration: 'stdcall', argBytes: 28 });
    expect(undecorate('@Read4442Card@20')).toEqual({ base: 'Read4442Card', decoration: 'fastcall', argBytes: 20 });
    expect(undecorate('Read4442Card@@20')).toEqual({ base: 'Read4442Card', decoration: 'vectorcall', argBytes: 20 });
    expect(undecorate('Gold_Writecard')).toEqual({ base: 'Gold_Writecard', decoration: 'none' });
    expect(undecorate('foo@bar')).toEqual({ base: 'foo@bar', decoration: 'none' });
    expect(undecorate('?Buy@@YGHPAE@Z').decoration).toBe('none'); // C++ mangling is not stdcall
  });

  it('expected bytes follow gascard.h: 4 per parameter, __int16 included', () => {
    expect(expectedStdcallBytes(INTERFACE_BY_NAME.get('WriteNew4442Card')!.params.length)).toBe(28);
    expect(expectedStdcallBytes(INTERFACE_BY_NAME.get('Check102Card')!.params.length)).toBe(8);
    expect(expectedStdcallBytes(INTERFACE_BY_NAME.get('CheckCpuCard')!.params.length)).toBe(4);
    expect(expectedStdcallBytes(INTERFACE_BY_NAME.get('MakeTool4442')!.params.length)).toBe(32);
  });
});
