package org.junit.runner

annotation class RunWith(val value: kotlin.reflect.KClass<*>)
